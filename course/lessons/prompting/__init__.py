"""Lesson 01, beyond the prompt: ``helpdesk`` (the task and its data), ``model`` (the course's promptable tiny
model), ``prompts`` (the 3Cs and the four ways to prompt), ``retrieval`` (RAG over notes and examples),
``evaluation`` (quality and tokens per strategy) and ``costs`` (cost = tokens x rate, fine-tuning, break-even).
The capstone (lesson 07) reuses ``helpdesk``, ``model``, ``prompts``, ``retrieval`` and ``evaluation``."""
