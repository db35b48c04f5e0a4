/*
 * The shell's tokenizer: splits a script into simple commands and their
 * words, with sh's quoting rules (enough of them to write any file name
 * or text) and output redirection. No variables, globs or pipes: the
 * shell drives the kernel, it is not a programming language.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell.h"

static int
syntax_error(const char *what)
{
	fprintf(stderr, "anyk: syntax error: %s\n", what);
	return -1;
}

/* Copy one word from *pp to *out; 0, or -1 on a syntax error. */
static int
parse_word(const char **pp, char **out)
{
	const char *p = *pp;
	char *o = *out;

	for (;;) {
		char c = *p;

		if (c == '\0' || c == ' ' || c == '\t' || c == '\n' ||
		    c == ';' || c == '>')
			break;
		if (c == '\'') {
			p++;
			while (*p != '\'') {
				if (*p == '\0')
					return syntax_error("unterminated '");
				*o++ = *p++;
			}
			p++;
		} else if (c == '"') {
			p++;
			while (*p != '"') {
				if (*p == '\0')
					return syntax_error("unterminated \"");
				/* As in sh, a backslash inside double quotes
				 * only escapes the characters that would
				 * otherwise be special there. */
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\' ||
				    p[1] == '$' || p[1] == '`')) {
					p++;
				} else if (*p == '\\' && p[1] == '\n') {
					p += 2;
					continue;
				}
				*o++ = *p++;
			}
			p++;
		} else if (c == '\\') {
			p++;
			if (*p == '\0')
				break;
			if (*p == '\n') {
				p++;
				continue;
			}
			*o++ = *p++;
		} else {
			*o++ = *p++;
		}
	}
	*o++ = '\0';
	*pp = p;
	*out = o;
	return 0;
}

static int
starts_word(char c)
{
	return c != '\0' && c != ' ' && c != '\t' && c != '\n' && c != ';' &&
	    c != '>';
}

int
sh_parse_next(const char **pos, struct sh_cmd *cmd)
{
	const char *p = *pos;
	char *o;
	int want_redir = 0;

	memset(cmd, 0, sizeof(*cmd));
	if (*p == '\0')
		return 0;
	/* Each word grows by at most its NUL: twice the text is plenty. */
	cmd->storage = malloc(2 * strlen(p) + 2);
	if (cmd->storage == NULL) {
		fprintf(stderr, "anyk: out of memory\n");
		return -1;
	}
	o = cmd->storage;
	for (;;) {
		char *word;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#') {
			while (*p != '\0' && *p != '\n')
				p++;
		}
		if (*p == '\0' || *p == '\n' || *p == ';') {
			if (want_redir)
				goto syntax;
			if (*p != '\0')
				p++;
			break;
		}
		if (*p == '>') {
			if (want_redir || cmd->redir != NULL)
				goto syntax;
			p++;
			cmd->append = 0;
			if (*p == '>') {
				cmd->append = 1;
				p++;
			}
			want_redir = 1;
			continue;
		}
		if (!starts_word(*p))
			goto syntax;
		word = o;
		if (parse_word(&p, &o) != 0)
			goto fail;
		if (want_redir) {
			cmd->redir = word;
			want_redir = 0;
		} else {
			if (cmd->argc >= SH_MAXARGS) {
				fprintf(stderr, "anyk: too many words in a "
				    "command (at most %d)\n", SH_MAXARGS);
				goto fail;
			}
			cmd->argv[cmd->argc++] = word;
		}
	}
	cmd->argv[cmd->argc] = NULL;
	*pos = p;
	return 1;
syntax:
	if (want_redir)
		syntax_error("missing file name after '>'");
	else
		syntax_error("unexpected character");
fail:
	sh_cmd_free(cmd);
	/* Skip the rest of the bad command so that an interactive user can go
	 * on with the next one. */
	while (*p != '\0' && *p != '\n' && *p != ';')
		p++;
	if (*p != '\0')
		p++;
	*pos = p;
	return -1;
}

void
sh_cmd_free(struct sh_cmd *cmd)
{
	free(cmd->storage);
	cmd->storage = NULL;
	cmd->argc = 0;
	cmd->redir = NULL;
}
