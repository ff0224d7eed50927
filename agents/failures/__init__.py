"""Why a stage refuses a story: the exception stages raise, its error types, and the dead letter built from it."""
