"""``new``: run the template into a temporary directory, finish the files, check them, make
the first commit, then move the repository into place in one rename."""
