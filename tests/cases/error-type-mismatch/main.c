#include <dlfcn.h>
int main(void){ return dlopen("libcaller.so", RTLD_NOW) == 0; }
