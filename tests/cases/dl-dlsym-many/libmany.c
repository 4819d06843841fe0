/* 1000 data symbols v0..v999 with v<n> = n, and 1000 functions f0..f999 returning n + 1. */
#define D(n) int v##n = n; int f##n(void) { return n + 1; }
#define D10(n) D(n##0) D(n##1) D(n##2) D(n##3) D(n##4) D(n##5) D(n##6) D(n##7) D(n##8) D(n##9)
#define D100(n) D10(n##0) D10(n##1) D10(n##2) D10(n##3) D10(n##4) D10(n##5) D10(n##6) D10(n##7) D10(n##8) D10(n##9)
D10() D100(1) D100(2) D100(3) D100(4) D100(5) D100(6) D100(7) D100(8) D100(9)
D10(1) D10(2) D10(3) D10(4) D10(5) D10(6) D10(7) D10(8) D10(9)
