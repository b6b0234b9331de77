"""Many BitCraps Mesh nodes at once: virtual time in one process, or real daemon processes."""
