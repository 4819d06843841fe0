#include <dlfcn.h>
int main(void){ return dlopen("liba.so", RTLD_NOW) == 0; }
