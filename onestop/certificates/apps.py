from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "onestop.certificates"
    label = "certificates"
    verbose_name = "电子证照"
