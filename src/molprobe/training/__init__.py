"""molprobe.training"""
