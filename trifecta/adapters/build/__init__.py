"""What a pack build needs beyond the single-purpose adapters: the segment listing (git's
file list inside a work tree, a walk under ``.gitignore`` rules outside) and the factory of
the per-process file chunker its worker processes run."""
