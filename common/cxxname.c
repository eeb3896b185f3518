/* cxxname.c - see cxxname.h. Also compiled into the CLI. */
#include "cxxname.h"

#include <string.h>

/* At s[i] (in a name of length n), the length of an operator's token
 * following "operator" ("operator<<", "operator()", "operator[]"), or 0. */
size_t sp__cxx_operator_len(const char *s, size_t n, size_t i)
{
	static const char kw[] = "operator";
	size_t k = sizeof kw - 1;
	if (i + k > n || memcmp(s + i, kw, k))
		return 0;
	if (i > 0) {
		char p = s[i - 1];
		if ((p >= 'a' && p <= 'z') || (p >= 'A' && p <= 'Z') || (p >= '0' && p <= '9') || p == '_')
			return 0;
	}
	if (i + k < n) {
		char c = s[i + k];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
			return 0; /* an identifier such as operator_count */
	}
	/* the longest operator token that follows: "operator!=<T>" is
	 * operator!= with a template argument, not "!=<" */
	static const char *const ops[] = { "<<=", ">>=", "->*", "<=>", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
					   "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "->", "()",
					   "[]", "<", ">", "+", "-", "*", "/", "%", "^", "&", "|", "~", "!", "=", "," };
	for (size_t o = 0; o < sizeof ops / sizeof *ops; o++) {
		size_t l = strlen(ops[o]);
		if (i + k + l <= n && !memcmp(s + i + k, ops[o], l))
			return k + l;
	}
	return k;
}

static int depth_step(char c)
{
	if (c == '<' || c == '(' || c == '[' || c == '{')
		return 1;
	if (c == '>' || c == ')' || c == ']' || c == '}')
		return -1;
	return 0;
}

void sp__cxx_name_span(const char *s, size_t n, size_t *start, size_t *end)
{
	size_t params = n, space = 0;
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		size_t op = depth == 0 ? sp__cxx_operator_len(s, n, i) : 0;
		if (op) {
			i += op - 1;
			continue;
		}
		char c = s[i];
		if (depth == 0 && c == '(' && i > 0 && s[i - 1] != ':')
			params = i; /* the last top-level one is the parameter list */
		if (depth == 0 && c == '[' && params != n)
			break; /* " [clone .constprop.0]" */
		int d = depth_step(c);
		depth += d;
		if (depth < 0)
			depth = 0;
	}
	/* "(anonymous namespace)::f": a '(' right at the start or after "::"
	 * opens a scope, not parameters. */
	depth = 0;
	for (size_t i = 0; i < params; i++) {
		size_t op = depth == 0 ? sp__cxx_operator_len(s, params, i) : 0;
		if (op) {
			i += op - 1;
			continue;
		}
		if (depth == 0 && s[i] == ' ' && !(i >= 8 && !memcmp(s + i - 8, "operator", 8)))
			space = i + 1; /* "long app::total<long>": the return type */
		depth += depth_step(s[i]);
		if (depth < 0)
			depth = 0;
	}
	*start = space < params ? space : 0;
	*end = params;
}

size_t sp__cxx_next_scope(const char *s, size_t n, size_t from)
{
	int depth = 0;
	for (size_t i = from; i + 1 < n; i++) {
		size_t op = depth == 0 ? sp__cxx_operator_len(s, n, i) : 0;
		if (op) {
			i += op - 1;
			continue;
		}
		if (depth == 0 && s[i] == ':' && s[i + 1] == ':')
			return i + 2;
		depth += depth_step(s[i]);
		if (depth < 0)
			depth = 0;
	}
	return n;
}
