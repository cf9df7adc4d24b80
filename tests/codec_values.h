/* codec_values.h — expected values of the official vectors (test_codec_vectors). */
#ifndef CODEC_VALUES_H
#define CODEC_VALUES_H

#include "ddb_obj.h"

/* Check the decoded object of cpp-api.tsv row `id` against the value its
 * description states (rows without an entry are only round-tripped). */
void cv_check_value(const char *id, const ddb_obj *o);
int cv_checked_rows(void);
/* Check every row of official-go.tsv; returns the number of rows. */
int run_go(const char *shared_dir);

#endif
