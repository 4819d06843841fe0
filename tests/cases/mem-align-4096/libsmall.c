/* Placed first, so that the 4096-aligned library does not start where malloc happens to be. */
char small_data[3] = "ab";
