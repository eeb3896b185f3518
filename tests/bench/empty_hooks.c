/* empty_hooks.c - hooks that do nothing: the price of the calls alone. */
__attribute__((no_instrument_function)) void __cyg_profile_func_enter(void *fn, void *cs)
{
	(void)fn;
	(void)cs;
}

__attribute__((no_instrument_function)) void __cyg_profile_func_exit(void *fn, void *cs)
{
	(void)fn;
	(void)cs;
}
