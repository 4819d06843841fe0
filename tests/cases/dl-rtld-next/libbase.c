int greet(int x) { return x * 2; }
