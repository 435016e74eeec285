"""The built-in labs, one module each (listed in the entry-point group ``mlsyslab.labs``)."""
