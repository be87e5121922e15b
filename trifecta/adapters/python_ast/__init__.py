"""SkeletonParser on the stdlib ``ast`` module (exact; the default)."""
