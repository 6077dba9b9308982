"""The lowest floor: paths, profiles, runtime helpers, the store (atomic files, safe loads, load or train)
and the recorded results. It imports nothing else from the library."""
