"""Audio adapters: ffmpeg conversion, SpeechRecognition engines, text-to-speech engines.

Not built yet: the container reports speech as unavailable until they land.
"""
