"""The hostile class of lesson 00: attacks on an autograder, each with its honest score (``catalogue``)."""

from .catalogue import FULL, LESSON, POINTS, Attack, attacks, build_class, listen

__all__ = ["FULL", "LESSON", "POINTS", "Attack", "attacks", "build_class", "listen"]
