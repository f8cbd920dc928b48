"""Lesson 03, Mixture of Experts: reference solutions and the declarations of its graded exercises."""

from __future__ import annotations

from course.grading.exercise import Exercise

EXERCISES: list[Exercise] = []
