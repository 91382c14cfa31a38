# One image for the bot and the training worker (compose.yaml runs it both ways).
#   docker build -t trainerbot .          the CPU build of PyTorch (a 192 MB wheel)
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 -t trainerbot .
#                                          a CUDA build, for a worker on a GPU machine
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

# ffmpeg decodes voice messages; espeak-ng is the offline voice; libopus speaks in voice
# channels; a compiler builds llama.cpp (llama-cpp-python) once, at image build time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg espeak-ng libopus0 build-essential cmake \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --extra-index-url "$TORCH_INDEX" ".[local,finetune]"

# Not root: the workspace volume is written by this user.
RUN useradd --create-home --uid 10001 trainerbot \
    && mkdir -p /workspace && chown trainerbot /workspace
USER trainerbot
ENV TRAINERBOT_WORKSPACE=/workspace
VOLUME ["/workspace"]

ENTRYPOINT ["trainerbot"]
CMD ["run"]
