/*
 * A small streaming JSON writer for the --json output of the image
 * subcommands: values are written as they come, commas and nesting are
 * tracked here, and strings are escaped so any file name gives valid JSON
 * (bytes that are not UTF-8 become U+FFFD).
 */
#ifndef ANYK_TOOLS_JSON_H
#define ANYK_TOOLS_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH 64

struct json {
	FILE *f;
	int depth;
	int count[JSON_DEPTH]; /* values written at each level */
	int after_key;
};

void json_init(struct json *j, FILE *f);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
/* A key inside an object; the next call writes its value. */
void json_key(struct json *j, const char *k);
void json_str(struct json *j, const char *s);
/* len bytes, which may hold NULs. */
void json_strn(struct json *j, const char *s, size_t len);
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);
/* "key": value shorthands. */
void json_kstr(struct json *j, const char *k, const char *v);
void json_kint(struct json *j, const char *k, int64_t v);
void json_kuint(struct json *j, const char *k, uint64_t v);
void json_kbool(struct json *j, const char *k, int v);
/* Ends the document with a newline. */
void json_end(struct json *j);

#endif /* ANYK_TOOLS_JSON_H */
