"""Real image data read from disk; nothing here downloads anything, ever.

``locations`` says where each data set lies (one data root, one sub-folder per set), ``decode``
turns files or arrays into uint8 tensors, ``cache`` keeps each decoded split once on disk as a
memory-mapped array, and ``readers`` knows each on-disk format.
"""
