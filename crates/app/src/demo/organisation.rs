//! The demo organisation: two branches in different cities and one staff
//! member per role, created idempotently (running `clinicos demo` again
//! changes nothing). Later modules extend it with their own data.

use crate::demo::service::Demo;
use crate::tenancy::provisioning::{NewTenant, NewUser};
use crate::{AppError, AppResult};
use clinicos_domain::{BranchId, Role};
use clinicos_store::tenancy::branches::{self, BranchFields};
use clinicos_store::tenancy::platform;

/// The demo clinic code.
pub const DEMO_SLUG: &str = "demo";
/// The demo password of every demo account (development only).
pub const DEMO_PASSWORD: &str = "Namaste-Care-2026!";
/// The demo operator account.
pub const DEMO_OPERATOR: &str = "operator@clinicos.example";
/// The demo's authenticator secret (base32, RFC 6238, 6 digits, 30 s): the
/// owner, the branch admin and the privacy officer must sign in with a
/// second factor, as in every new clinic. Add it to any authenticator app,
/// or `oathtool --totp -b <secret>`. Public on purpose: demo data only.
pub const DEMO_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPDEMOCLINICOSTOTP";

/// One demo sign-in.
#[derive(Clone, Debug)]
pub struct DemoLogin {
    pub role: Role,
    pub email: String,
}

fn demo_email(r: Role) -> String {
    format!("{}@demo.clinicos.example", r.as_str().replace('_', "."))
}

fn demo_name(r: Role) -> &'static str {
    match r {
        Role::Owner => "Dr. Meera Iyer",
        Role::BranchAdmin => "Rahul Menon",
        Role::Doctor => "Dr. Arjun Rao",
        Role::Nurse => "Priya Nair",
        Role::FrontDesk => "Kavya Reddy",
        Role::Pharmacist => "Sanjay Gupta",
        Role::LabTechnician => "Farah Khan",
        Role::Accountant => "Vikram Shah",
        Role::PrivacyOfficer => "Anita Desai",
    }
}

impl Demo<'_> {
    /// Create the demo data if missing; returns the sign-ins.
    pub async fn seed_demo(&self) -> AppResult<Vec<DemoLogin>> {
        self.app.tenancy().ensure_default_plans().await?;
        if platform::operator_by_email(self.app.store.platform(), DEMO_OPERATOR)
            .await?
            .is_none()
        {
            self.app
                .tenancy()
                .create_operator(DEMO_OPERATOR, "Platform Operator", DEMO_PASSWORD)
                .await?;
        }
        let tenant_id =
            match platform::directory_by_slug(self.app.store.platform(), DEMO_SLUG).await? {
                Some(e) => e.tenant_id,
                None => {
                    let n = NewTenant {
                        slug: DEMO_SLUG.into(),
                        legal_name: "Sunrise Family Clinics Private Limited".into(),
                        display_name: "Sunrise Family Clinics".into(),
                        country: "IN".into(),
                        city: "Bengaluru".into(),
                        state: "Karnataka".into(),
                        region: None,
                        plan: Some("clinic".into()),
                        locale: "en".into(),
                        currency: "INR".into(),
                        time_zone: "Asia/Kolkata".into(),
                        owner_email: demo_email(Role::Owner),
                        owner_name: demo_name(Role::Owner).into(),
                        owner_password: Some(DEMO_PASSWORD.into()),
                    };
                    self.app.tenancy().create_tenant(&n).await?.tenant_id
                }
            };
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(tenant_id).await?;
        let existing = branches::all(&mut tx).await?;
        let main = existing
            .iter()
            .find(|b| b.fields.code == "main")
            .map(|b| b.id)
            .ok_or(AppError::NotFound("main branch"))?;
        if let Some(b) = existing.iter().find(|b| b.fields.code == "main") {
            if b.fields.address_line.is_empty() {
                let mut f = b.fields.clone();
                f.name = "Sunrise Indiranagar".into();
                f.address_line = "12 100 Feet Road, Indiranagar".into();
                f.postcode = "560038".into();
                f.gstin = Some("29ABCDE1234F1Z5".into());
                f.working_hours = "Mon-Sat 08:00-20:00".into();
                f.phone = "+91 80 4000 1000".into();
                branches::update(&mut tx, b.id, &f, true, now).await?;
            }
        }
        let second = match existing.iter().find(|b| b.fields.code == "pune") {
            Some(b) => b.id,
            None => {
                let id = BranchId::new();
                let f = BranchFields {
                    code: "pune".into(),
                    name: "Sunrise Koregaon Park".into(),
                    address_line: "7 North Main Road, Koregaon Park".into(),
                    city: "Pune".into(),
                    state: "Maharashtra".into(),
                    postcode: "411001".into(),
                    country: "IN".into(),
                    time_zone: "Asia/Kolkata".into(),
                    currency: "INR".into(),
                    gstin: Some("27ABCDE1234F1Z9".into()),
                    vat_id: None,
                    tin: None,
                    working_hours: "Mon-Sat 09:00-18:00".into(),
                    phone: "+91 20 4000 2000".into(),
                    email: String::new(),
                };
                branches::insert(&mut tx, id, &f, now).await?;
                id
            }
        };
        tx.commit().await?;
        let mut logins = vec![DemoLogin {
            role: Role::Owner,
            email: demo_email(Role::Owner),
        }];
        for role in Role::ALL.into_iter().filter(|r| *r != Role::Owner) {
            let email = demo_email(role);
            let mut tx = self.app.store.read(tenant_id).await?;
            let exists = clinicos_store::identity::users::credentials_by_email(&mut tx, &email)
                .await?
                .is_some();
            tx.commit().await?;
            if !exists {
                let branch_ids = if role == Role::Nurse {
                    vec![second]
                } else {
                    vec![main, second]
                };
                let u = NewUser {
                    email: email.clone(),
                    name: demo_name(role).into(),
                    roles: vec![role],
                    branch_ids,
                    password: Some(DEMO_PASSWORD.into()),
                    locale: Some(if role == Role::FrontDesk {
                        "hi".into()
                    } else {
                        "en".into()
                    }),
                };
                self.app.tenancy().create_user_cli(DEMO_SLUG, &u).await?;
            }
            logins.push(DemoLogin { role, email });
        }
        let mut tx = self.app.store.read(tenant_id).await?;
        let mut with_mfa = Vec::new();
        for role in Role::MFA_REQUIRED_BY_DEFAULT {
            with_mfa.push(demo_user_id(&mut tx, role).await?);
        }
        let staff = crate::demo::patients::DemoStaff {
            owner: demo_user_id(&mut tx, Role::Owner).await?,
            doctor: demo_user_id(&mut tx, Role::Doctor).await?,
            nurse: demo_user_id(&mut tx, Role::Nurse).await?,
            front_desk: demo_user_id(&mut tx, Role::FrontDesk).await?,
        };
        tx.commit().await?;
        for user in with_mfa {
            self.app
                .identity()
                .enrol_known_totp(tenant_id, user, DEMO_TOTP_SECRET)
                .await?;
        }
        self.seed_demo_patients(tenant_id, (main, second), &staff)
            .await?;
        self.seed_demo_records(tenant_id, staff.doctor).await?;
        Ok(logins)
    }
}

async fn demo_user_id(
    tx: &mut clinicos_store::TenantTx,
    role: Role,
) -> AppResult<clinicos_domain::UserId> {
    clinicos_store::identity::users::credentials_by_email(tx, &demo_email(role))
        .await?
        .map(|c| c.id)
        .ok_or(AppError::NotFound("demo staff member"))
}
