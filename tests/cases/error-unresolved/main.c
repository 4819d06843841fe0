#include <dlfcn.h>
int main(void){ return dlopen("libneedy.so", RTLD_NOW) == 0; }
