"""Lesson 07, the capstone: one task solved by prompting, RAG and fine-tuning, measured side by side, then shipped."""
