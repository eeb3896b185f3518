/* cxxname.h - the parts of a demangled C++ name, for the runtime (globs on
 * qualified names) and the CLI (display names). No allocation.
 *
 *   "long app::total<long>(std::vector<long> const&)"
 *    ^ret  ^scope ^name   ^parameter list
 *
 * The scanner counts <>, (), [] and {} so that "::" inside template
 * arguments, parameter lists or lambda names ("{lambda(int)#1}") is not a
 * scope boundary, and skips the operator token of "operator<", "operator()"
 * and friends. */
#ifndef SP_CXXNAME_H
#define SP_CXXNAME_H

#include <stddef.h>

/* [*start, *end) of the qualified name proper in `s` (its length n): the
 * return type that the demangler writes for template functions is left
 * out before, and the final parameter list, cv-qualifiers and
 * "[clone .x]" after. A C name is returned whole. */
void sp__cxx_name_span(const char *s, size_t n, size_t *start, size_t *end);

/* The offset just after the first top-level "::" at or after `from` in
 * s[0, n), or n if none. */
size_t sp__cxx_next_scope(const char *s, size_t n, size_t from);
/* At s[i], the length of "operator" and its token ("operator<<",
 * "operator()"), or 0: the brackets of an operator's name are no group. */
size_t sp__cxx_operator_len(const char *s, size_t n, size_t i);

#endif
