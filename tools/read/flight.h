/* read/flight.h - a flight file (format 2) as the bytes of a format-1 dump. */
#ifndef CLI_FLIGHT_H
#define CLI_FLIGHT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "format.h"

struct rd_flight {
	uint8_t *data; /* malloc'd dump bytes */
	size_t size;
	bool unclean;  /* its program is gone without exiting normally */
	bool live;     /* its program runs */
	size_t unfinished; /* traces that were open when it died */
};

/* 0, or -1 with a message in err. `path`: to read commit words again when
 * the program still runs. */
int rd_flight_convert(const char *path, const uint8_t *f, size_t size, struct rd_flight *res, char *err,
		      size_t errlen);
#endif
