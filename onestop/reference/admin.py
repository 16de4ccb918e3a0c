from django.contrib import admin

from onestop.reference.models import (
    Bank,
    BankBranch,
    Division,
    EthnicGroup,
    Institution,
    InsurancePremium,
)


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin[Institution]):
    list_display = ("code", "name", "kind", "division", "midwifery")
    list_filter = ("kind", "midwifery")
    search_fields = ("code", "name", "division")


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin[Division]):
    list_display = ("code", "name", "parent")
    search_fields = ("code", "name")


@admin.register(EthnicGroup)
class EthnicGroupAdmin(admin.ModelAdmin[EthnicGroup]):
    list_display = ("code", "name", "name_en", "recognized")


@admin.register(Bank)
class BankAdmin(admin.ModelAdmin[Bank]):
    list_display = ("code", "name")


@admin.register(InsurancePremium)
class InsurancePremiumAdmin(admin.ModelAdmin[InsurancePremium]):
    list_display = ("region", "year", "amount_yuan", "source", "updated_at")
    list_filter = ("region", "year")


@admin.register(BankBranch)
class BankBranchAdmin(admin.ModelAdmin[BankBranch]):
    list_display = ("code", "name", "bank", "region", "division", "address", "office_hours")
    list_filter = ("region", "bank")
    search_fields = ("code", "name")
