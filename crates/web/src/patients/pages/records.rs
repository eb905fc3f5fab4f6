//! The chart's clinical-record editors: medical history, allergies,
//! chronic conditions and current medications. One description per kind
//! (its fields, in form order) drives the list, the add form and each
//! entry's edit form, so the four editors look and behave alike. Writes go
//! through the same services as the API (`add_history`, `clinical_add`,
//! `clinical_update`, ...): the policy point decides (care relationship,
//! sensitivity tier, only the author edits) and every read and write is
//! audited there.

use crate::kit::i18n::I18n;
use crate::kit::page::Errs;
use crate::patients::pages::form::Opt;
use crate::WebState;
use clinicos_app::patients::allergies::{self, Allergies, Allergy};
use clinicos_app::patients::care::HISTORY_CATEGORIES;
use clinicos_app::patients::conditions::{self, Conditions};
use clinicos_app::patients::medications::{self, Medications};
use clinicos_app::patients::records::Recorded;
use clinicos_app::{AppResult, Ctx};
use clinicos_domain::PatientId;
use clinicos_domain::Sensitivity;
use std::collections::HashMap;

/// How an input is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    Text,
    Date,
    Area,
    /// One of these values (an empty first option when optional).
    Select(&'static [&'static str], bool),
    /// The record's sensitivity: chosen when adding, fixed afterwards.
    Sensitivity,
}

/// One field of a kind.
struct Spec {
    name: &'static str,
    input: Input,
    required: bool,
}

const fn spec(name: &'static str, input: Input, required: bool) -> Spec {
    Spec {
        name,
        input,
        required,
    }
}

/// The record kinds, with their fields in form order.
const KINDS: [(&str, &[Spec]); 4] = [
    (
        "history",
        &[
            spec("category", Input::Select(&HISTORY_CATEGORIES, false), true),
            spec("text", Input::Area, true),
            spec("sensitivity", Input::Sensitivity, false),
        ],
    ),
    (
        "allergies",
        &[
            spec("substance", Input::Text, true),
            spec(
                "category",
                Input::Select(&allergies::CATEGORIES, false),
                true,
            ),
            spec("reaction", Input::Text, false),
            spec(
                "severity",
                Input::Select(&allergies::SEVERITIES, true),
                false,
            ),
            spec("status", Input::Select(&allergies::STATUSES, false), false),
            spec("note", Input::Area, false),
            spec("sensitivity", Input::Sensitivity, false),
        ],
    ),
    (
        "conditions",
        &[
            spec("name", Input::Text, true),
            spec("code", Input::Text, false),
            spec("status", Input::Select(&conditions::STATUSES, false), false),
            spec("onset_date", Input::Date, false),
            spec("resolved_date", Input::Date, false),
            spec("note", Input::Area, false),
            spec("sensitivity", Input::Sensitivity, false),
        ],
    ),
    (
        "medications",
        &[
            spec("name", Input::Text, true),
            spec("dose", Input::Text, false),
            spec("frequency", Input::Text, false),
            spec("route", Input::Text, false),
            spec(
                "status",
                Input::Select(&medications::STATUSES, false),
                false,
            ),
            spec("start_date", Input::Date, false),
            spec("stop_date", Input::Date, false),
            spec("note", Input::Area, false),
            spec("sensitivity", Input::Sensitivity, false),
        ],
    ),
];

/// The catalogue key of an enumerated value (`entered-in-error`,
/// `hiv_sti` -> `val-entered-in-error`, `val-hiv-sti`).
pub fn value_key(v: &str) -> String {
    format!("val-{}", v.replace('_', "-"))
}

/// One input as drawn.
pub struct FieldView {
    pub id: String,
    pub name: &'static str,
    pub label: String,
    /// text, date, area, select or hidden.
    pub input: &'static str,
    pub value: String,
    pub options: Vec<Opt>,
    pub required: bool,
    /// Why the last submission of this field was refused.
    pub error: Option<String>,
}

/// One entry of a list.
pub struct EntryView {
    pub id: String,
    pub title: String,
    pub detail: String,
    pub meta: String,
    pub restricted: bool,
    pub inactive: bool,
    /// The reader wrote it, so may change it (the service decides again).
    pub editable: bool,
    pub action: String,
    pub fields: Vec<FieldView>,
    /// Its edit form is open (it failed and is shown again).
    pub open: bool,
}

/// One record kind's section of the chart.
pub struct SectionView {
    pub key: &'static str,
    pub heading: String,
    pub entries: Vec<EntryView>,
    pub withheld: usize,
    pub add_action: String,
    pub new_fields: Vec<FieldView>,
    /// The add form is open (it failed and is shown again).
    pub add_open: bool,
}

fn fields(
    i: &I18n,
    kind: &str,
    prefix: &str,
    specs: &[Spec],
    values: &[(&str, String)],
    new: bool,
) -> Vec<FieldView> {
    specs
        .iter()
        .map(|s| {
            let value = values
                .iter()
                .find(|(n, _)| *n == s.name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let label = i.t(&format!("rec-{}", s.name.replace('_', "-")));
            let select = |vals: &[&str], optional: bool| {
                let mut out: Vec<Opt> = Vec::new();
                if optional {
                    out.push(Opt {
                        value: String::new(),
                        label: i.t("not-recorded"),
                        selected: value.is_empty(),
                    });
                }
                out.extend(vals.iter().map(|v| Opt {
                    value: (*v).to_owned(),
                    label: i.t(&value_key(v)),
                    selected: *v == value,
                }));
                out
            };
            let (input, options) = match s.input {
                Input::Text => ("text", Vec::new()),
                Input::Date => ("date", Vec::new()),
                Input::Area => ("area", Vec::new()),
                Input::Select(vals, optional) => ("select", select(vals, optional)),
                Input::Sensitivity if new => {
                    let all: Vec<&str> = Sensitivity::ALL.iter().map(|s| s.as_str()).collect();
                    ("select", select(&all, false))
                }
                Input::Sensitivity => ("hidden", Vec::new()),
            };
            FieldView {
                id: format!("{kind}-{prefix}-{}", s.name),
                name: s.name,
                label,
                input,
                value,
                options,
                required: s.required,
                error: None,
            }
        })
        .collect()
}

fn specs(kind: &str) -> Option<&'static [Spec]> {
    KINDS.iter().find(|(k, _)| *k == kind).map(|(_, s)| *s)
}

/// An entry's list line and edit form.
struct Shown {
    id: String,
    title: String,
    values: Vec<(&'static str, String)>,
    meta: Recorded,
    inactive: bool,
}

/// A structured record as shown: titled by its first value, inactive when
/// its status is not `active`, its sensitivity carried for the edit form.
fn shown(meta: &Recorded, status: &str, mut values: Vec<(&'static str, String)>) -> Shown {
    values.push(("sensitivity", meta.sensitivity.clone()));
    Shown {
        id: meta.id.as_text(),
        title: values.first().map(|(_, v)| v.clone()).unwrap_or_default(),
        values,
        inactive: status != "active",
        meta: meta.clone(),
    }
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn allergy_shown(a: &Allergy) -> Shown {
    shown(
        &a.recorded,
        &a.status,
        vec![
            ("substance", a.substance.clone()),
            ("category", a.category.clone()),
            ("reaction", opt(&a.reaction)),
            ("severity", opt(&a.severity)),
            ("status", a.status.clone()),
            ("note", opt(&a.note)),
        ],
    )
}

fn section(
    i: &I18n,
    patient: PatientId,
    ctx: &Ctx,
    key: &'static str,
    withheld: usize,
    shown: Vec<Shown>,
) -> SectionView {
    let specs = specs(key).unwrap_or(&[]);
    let entries = shown
        .into_iter()
        .map(|s| {
            let detail = s
                .values
                .iter()
                .skip(1)
                .filter(|(n, v)| {
                    !v.is_empty() && *n != "sensitivity" && *n != "note" && *n != "text"
                })
                .map(|(n, v)| {
                    let is_enum = specs
                        .iter()
                        .any(|x| x.name == *n && matches!(x.input, Input::Select(..)));
                    if is_enum {
                        i.t(&value_key(v))
                    } else {
                        v.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" · ");
            EntryView {
                fields: fields(i, key, &s.id, specs, &s.values, false),
                open: false,
                action: format!("/patients/{patient}/records/{key}/{}", s.id),
                editable: s.meta.recorded_by == ctx.user,
                restricted: s.meta.restricted,
                inactive: s.inactive,
                meta: crate::kit::page::when(&s.meta.recorded_at),
                detail,
                title: s.title,
                id: s.id,
            }
        })
        .collect();
    SectionView {
        key,
        heading: i.t(&format!("chart-{key}")),
        entries,
        withheld,
        add_action: format!("/patients/{patient}/records/{key}"),
        new_fields: fields(i, key, "new", specs, &[("status", "active".into())], true),
        add_open: false,
    }
}

/// The four record sections of a chart, and the allergies for the banner.
/// Each list is a read the service audits.
pub async fn load(
    st: &WebState,
    ctx: &Ctx,
    patient: PatientId,
    i: &I18n,
) -> AppResult<(Vec<SectionView>, Vec<Allergy>, bool)> {
    let allergies = st
        .app
        .patients()
        .clinical_list::<Allergies>(ctx, patient)
        .await?;
    let history = st.app.patients().history(ctx, patient).await?;
    let conditions = st
        .app
        .patients()
        .clinical_list::<Conditions>(ctx, patient)
        .await?;
    let meds = st
        .app
        .patients()
        .clinical_list::<Medications>(ctx, patient)
        .await?;
    let emergency = allergies.emergency_access || history.emergency_access;
    let h = history
        .entries
        .iter()
        .map(|e| Shown {
            id: e.id.as_text(),
            title: i.t(&value_key(&e.category)),
            values: vec![
                ("category", e.category.clone()),
                ("text", e.text.clone()),
                ("sensitivity", e.sensitivity.clone()),
            ],
            inactive: false,
            meta: Recorded {
                id: e.id,
                sensitivity: e.sensitivity.clone(),
                restricted: e.restricted,
                branch_id: e.branch_id,
                recorded_by: e.recorded_by,
                recorded_at: e.recorded_at,
                updated_at: e.updated_at,
            },
        })
        .collect();
    let c = conditions
        .entries
        .iter()
        .map(|e| {
            shown(
                &e.recorded,
                &e.status,
                vec![
                    ("name", e.name.clone()),
                    ("code", opt(&e.code)),
                    ("status", e.status.clone()),
                    ("onset_date", opt(&e.onset_date)),
                    ("resolved_date", opt(&e.resolved_date)),
                    ("note", opt(&e.note)),
                ],
            )
        })
        .collect();
    let m = meds
        .entries
        .iter()
        .map(|e| {
            shown(
                &e.recorded,
                &e.status,
                vec![
                    ("name", e.name.clone()),
                    ("dose", opt(&e.dose)),
                    ("frequency", opt(&e.frequency)),
                    ("route", opt(&e.route)),
                    ("status", e.status.clone()),
                    ("start_date", opt(&e.start_date)),
                    ("stop_date", opt(&e.stop_date)),
                    ("note", opt(&e.note)),
                ],
            )
        })
        .collect();
    let a = allergies.entries.iter().map(allergy_shown).collect();
    let sections = vec![
        section(i, patient, ctx, "allergies", allergies.withheld, a),
        section(i, patient, ctx, "history", history.withheld, h),
        section(i, patient, ctx, "conditions", conditions.withheld, c),
        section(i, patient, ctx, "medications", meds.withheld, m),
    ];
    Ok((sections, allergies.entries, emergency))
}

pub type Fields = HashMap<String, String>;

/// A record form the service refused, shown again with its values and the
/// message next to each refused field.
pub struct RecordFailure {
    pub kind: String,
    pub entry: Option<String>,
    pub values: Fields,
    pub errs: Errs,
}

fn refill(fields: &mut [FieldView], f: &RecordFailure) {
    for fv in fields {
        if let Some(v) = f.values.get(fv.name) {
            fv.value = v.trim().to_owned();
            for o in &mut fv.options {
                o.selected = o.value == fv.value;
            }
        }
        fv.error = f.errs.of(fv.name).map(str::to_owned);
    }
}

/// Put a refused form back into its section, open.
pub fn show_failure(sections: &mut [SectionView], f: &RecordFailure) {
    let Some(s) = sections.iter_mut().find(|s| s.key == f.kind) else {
        return;
    };
    match &f.entry {
        None => {
            refill(&mut s.new_fields, f);
            s.add_open = true;
        }
        Some(id) => {
            if let Some(e) = s.entries.iter_mut().find(|e| &e.id == id) {
                refill(&mut e.fields, f);
                e.open = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_required_first_field_and_a_sensitivity() {
        for (kind, specs) in KINDS {
            assert!(specs.iter().any(|s| s.required), "{kind}");
            assert!(
                specs.iter().any(|s| s.input == Input::Sensitivity),
                "{kind}"
            );
        }
        assert_eq!(value_key("hiv_sti"), "val-hiv-sti");
    }

    #[test]
    fn sensitivity_is_chosen_when_adding_and_kept_when_editing() {
        let i = I18n::new("en");
        let specs = specs("allergies").expect("allergies");
        let new = fields(&i, "allergies", "new", specs, &[], true);
        let edit = fields(
            &i,
            "allergies",
            "x",
            specs,
            &[("sensitivity", "genetics".into())],
            false,
        );
        let s = |v: &[FieldView]| {
            v.iter()
                .find(|f| f.name == "sensitivity")
                .map(|f| (f.input, f.value.clone()))
        };
        assert_eq!(s(&new), Some(("select", String::new())));
        assert_eq!(s(&edit), Some(("hidden", "genetics".into())));
    }
}
