"""molprobe.chem"""
