"""numexpr's thread functions, fnjit's."""

from numexpr import (_init_num_threads, detect_number_of_cores,  # noqa: F401
                     detect_number_of_threads, get_num_threads, get_vml_num_threads,
                     get_vml_version,
                     set_num_threads, set_vml_accuracy_mode, set_vml_num_threads)
