"""factory_boy factories; every object gets unique, random-looking data."""

from __future__ import annotations

import factory
from allauth.account.models import EmailAddress

from accounts.models import AccessPolicy, AccessPolicyRule, Membership, Project, Role, User

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or DEFAULT_PASSWORD)
        if create:
            self.save(update_fields=["password"])
            if self.email:
                EmailAddress.objects.get_or_create(
                    user=self, email=self.email, defaults={"primary": True, "verified": True}
                )


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    project = factory.SubFactory(ProjectFactory)
    role = Role.MEMBER


class AccessPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccessPolicy

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Policy {n}")


class AccessPolicyRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccessPolicyRule

    policy = factory.SubFactory(AccessPolicyFactory)
    resource_type = "Patient"
    interactions = "rs"
