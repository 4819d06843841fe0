#include <dlfcn.h>
#include <stdio.h>
int main(void) { printf("%p\n", dlopen("libplain.so", RTLD_NOW)); return 0; }
