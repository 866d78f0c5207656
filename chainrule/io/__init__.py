"""Reading and writing model files: safetensors arrays plus a JSON header, never pickle."""
from .model_file import (FORMAT_VERSION, LAYERS, MetadataError, ModelFileNotFoundError, load,
                         load_checkpoint, read_metadata, save)

__all__ = ["FORMAT_VERSION", "LAYERS", "MetadataError", "ModelFileNotFoundError", "load",
           "load_checkpoint", "read_metadata", "save"]
