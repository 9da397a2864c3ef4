"""Rapport feedback: Surveys, tickets, reviews and social comments in English and Chinese: sentiment, topics, trends and alerts."""
