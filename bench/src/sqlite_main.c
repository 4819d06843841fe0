/* The SQLite benchmark's main (bench/src/sqlite.rs), built -fPIC against libsqlite3.so (the
 * amalgamation of the crate libsqlite3-sys, PIC) and linked -shared with wasip2's crt1-command.o:
 *
 *   main          returns at once: the dynamic linker's work alone (libc.so and libsqlite3.so are
 *                 placed and relocated before _start; sqlite-vec.so is only dl-openable);
 *   main hello    opens an in-memory database, creates a table, inserts three rows, loads the
 *                 sqlite-vec extension with sqlite3_load_extension (SQLite's own dlopen + dlsym of
 *                 sqlite3_vec_init), queries the rows and one vec function, prints one line from
 *                 both and closes the database: the first useful output.
 */
#include <stdio.h>
#include <string.h>
#include "sqlite3.h"

/* The text of the single value `sql` returns into `out`; 0 on success. */
static int one_value(sqlite3 *db, const char *sql, char *out, size_t size) {
    sqlite3_stmt *st = 0;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, 0);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, size, "%s", t ? (const char *)t : "NULL");
    } else {
        fprintf(stderr, "query `%s` failed: %s\n", sql, sqlite3_errmsg(db));
        rc = SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "hello") == 0) {
        sqlite3 *db = 0;
        char *err = 0;
        if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
            fprintf(stderr, "sqlite3_open: %s\n", sqlite3_errmsg(db));
            return 1;
        }
        const char *setup = "CREATE TABLE words(id INTEGER PRIMARY KEY, word TEXT NOT NULL);"
                            "INSERT INTO words(word) VALUES ('hello'), ('from'), ('SQLite');";
        if (sqlite3_exec(db, setup, 0, 0, &err) != SQLITE_OK) {
            fprintf(stderr, "sqlite3_exec: %s\n", err);
            return 1;
        }
        sqlite3_enable_load_extension(db, 1);
        if (sqlite3_load_extension(db, "sqlite-vec.so", "sqlite3_vec_init", &err) != SQLITE_OK) {
            fprintf(stderr, "sqlite3_load_extension(sqlite-vec.so): %s\n", err ? err : "?");
            return 1;
        }
        char words[64], dist[64], vec[64];
        int status = one_value(db, "SELECT group_concat(word, ' ') FROM (SELECT word FROM words ORDER BY id)",
                               words, sizeof words) |
                     one_value(db, "SELECT vec_distance_l2('[0, 0, 0]', '[3, 4, 12]')", dist, sizeof dist) |
                     one_value(db, "SELECT vec_version()", vec, sizeof vec);
        if (status == 0) {
            printf("%s; sqlite-vec: vec_distance_l2 = %s\n", words, dist);
            printf("SQLite %s, sqlite-vec %s\n", sqlite3_libversion(), vec);
        }
        sqlite3_close(db);
        return status;
    }
    return 0;
}
