"""The Cisco MPP catalogue: line ports, line key buttons, key expansion modules, touch screen."""
from django.db import migrations

# code: (family, line ports, line key buttons, KEM modules, touch screen)
MPP_MODELS = {
    "6821": ("Cisco 6800 Series", 2, 2, 0, False),
    "6841": ("Cisco 6800 Series", 4, 4, 0, False),
    "6851": ("Cisco 6800 Series", 4, 4, 1, False),
    "6861": ("Cisco 6800 Series", 4, 4, 0, False),
    "6871": ("Cisco 6800 Series", 6, 6, 0, False),
    "7811": ("Cisco 7800 Series", 1, 0, 0, False),
    "7821": ("Cisco 7800 Series", 2, 2, 0, False),
    "7832": ("Cisco 7800 Series", 1, 0, 0, False),
    "7841": ("Cisco 7800 Series", 4, 4, 0, False),
    "7861": ("Cisco 7800 Series", 16, 16, 0, False),
    "8811": ("Cisco 8800 Series", 10, 5, 0, False),
    "8841": ("Cisco 8800 Series", 10, 5, 0, False),
    "8845": ("Cisco 8800 Series", 10, 5, 0, False),
    "8851": ("Cisco 8800 Series", 10, 5, 2, False),
    "8861": ("Cisco 8800 Series", 10, 5, 3, False),
    "8865": ("Cisco 8800 Series", 10, 5, 3, False),
    "8875": ("Cisco 8875", 10, 10, 0, True),
    "9841": ("Cisco 9800 Series", 4, 4, 0, False),
    "9851": ("Cisco 9800 Series", 10, 6, 3, False),
    "9861": ("Cisco 9800 Series", 10, 10, 3, True),
    "9871": ("Cisco 9800 Series", 10, 10, 3, True),
}


def add_models(apps, schema_editor):
    SupportedDevice = apps.get_model("devices", "SupportedDevice")
    for code, (family, ports, keys, kems, touch) in MPP_MODELS.items():
        SupportedDevice.objects.update_or_create(
            model=f"DMS Cisco {code}",
            defaults=dict(display_name=f"Cisco {code}", product_code=code, family=family, line_ports=ports,
                          line_key_buttons=keys, kem_module_count=kems, touch_screen=touch),
        )


def remove_models(apps, schema_editor):
    apps.get_model("devices", "SupportedDevice").objects.filter(model__in=[f"DMS Cisco {c}" for c in MPP_MODELS]).delete()


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]
    operations = [migrations.RunPython(add_models, remove_models)]
