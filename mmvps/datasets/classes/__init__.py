"""Official category lists of the supported datasets (project data, copied from the dataset
releases): each module has ``CATEGORIES``, dicts of ``id``, ``name``, ``isthing``, ``color``."""
