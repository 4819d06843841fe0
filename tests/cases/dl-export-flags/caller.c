#include <stdio.h>
extern int shared_name(void);
/* Only libflags.so exports these, hidden: they must stay unresolved, i.e. NULL. */
extern int flags_hidden(void) __attribute__((weak));
extern int flags_local(void) __attribute__((weak));
extern int flags_hidden_data __attribute__((weak));
void caller_report(void) {
  printf("caller: shared_name() = %d\n", shared_name());
  printf("caller: flags_hidden %s, flags_local %s, &flags_hidden_data %s\n",
         flags_hidden ? "bound" : "NULL", flags_local ? "bound" : "NULL",
         &flags_hidden_data ? "bound" : "NULL");
}
