int value(int x) { return x; }
