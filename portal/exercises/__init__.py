"""The library of stretches, exercises, posture habits and nutrition tips."""
