"""The online side: a Flask API that answers from Redis-cached vectors."""
