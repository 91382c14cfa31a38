"""Audio adapters, one module per seam (import each from its module; this package imports none).

- ``ffmpeg``: ``FfmpegAudioConverter`` (any container → PCM, with a neutral decoding cap);
  ``ffmpeg_process``: which ffmpeg binary (``resolve_ffmpeg``) and running one; ``ogg``: the Ogg
  Opus reading behind the voice-message fast road.
- ``silence``: ``split_on_silence``, cutting a long recording at its pauses.
- Speech to text: ``recognition`` (``SpeechRecognitionSpeechToText``, the worker pool), ``engine``
  (the ``RecognitionEngine`` base), one module per engine: ``sphinx``, ``google``, ``whisper``
  (with ``whisper_weights``, the bundled model); ``fallback`` (a second recogniser or voice).
- Text to speech: ``gtts``, ``espeak``.

The length and size limits are core's rules (``core.limits``): these adapters only apply caps.
"""
