"""Side-by-side benchmarks: the naive way vs ours, one stage per module (loader, handoff)."""
