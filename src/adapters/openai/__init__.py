"""OpenAI adapters (chat, fine-tuning, speech, embeddings) over the official ``openai`` SDK.

Not built yet: the container reports chat and OpenAI training as unavailable until they land.
"""
