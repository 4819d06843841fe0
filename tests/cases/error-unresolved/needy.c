extern int nosuch_data;
int nosuch_func(int);
int other_missing(void);
int use(void) { return nosuch_func(nosuch_data) + other_missing(); }
