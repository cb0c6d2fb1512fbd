//! [`State::apply`]: one event in, a [`Change`] out — the movements, bed changes,
//! waiting-list changes and trauma minutes each event kind makes, and the day rolling
//! with event time.

use chrono::Days;

use super::*;

impl State {
    /// Applies one event. Deterministic: the same events in the same order from the
    /// same scenario always give the same state and the same changes.
    pub fn apply(&mut self, event: &Event) -> Change {
        let before = self.plan_start();
        if self.now.is_none_or(|now| event.at > now) {
            self.now = Some(event.at);
        }
        let day_rolled = self.plan_start() != before;
        if day_rolled {
            self.forget_the_past();
        }
        let result = match &event.kind {
            EventKind::Admit(a) => {
                let details = AdmitDetails {
                    expected_discharge: a.expected_discharge,
                    route: a.route,
                };
                self.admit_patient(&a.patient, &a.ward, &details, event.at)
                    .map(|()| {
                        if let Some(case) = a.case.as_deref().and_then(|c| self.unwait(c)) {
                            self.admitted.insert(case.id.clone(), case);
                        }
                    })
            }
            EventKind::Discharge(d) => match self.inpatients.get(&d.patient) {
                Some(bed) if bed.is_after(event.at) => Err(Rejection::Stale),
                Some(_) => {
                    if let Some(bed) = self.inpatients.remove(&d.patient) {
                        self.bed_freed(&bed.ward);
                        self.discharged
                            .insert(d.patient.clone(), Left { bed, at: event.at });
                    }
                    Ok(())
                }
                None => Err(Rejection::PatientNotIn),
            },
            EventKind::Transfer(t) => match self.inpatients.get_mut(&t.patient) {
                Some(bed) if bed.is_after(event.at) => Err(Rejection::Stale),
                Some(bed) => {
                    bed.transferred_from = Some(bed.ward.clone());
                    self.move_patient(&t.patient, &t.ward, event.at);
                    Ok(())
                }
                None => match &t.admit_unknown {
                    Some(details) => self.admit_patient(&t.patient, &t.ward, details, event.at),
                    None => Err(Rejection::PatientNotIn),
                },
            },
            EventKind::PreAdmit(p) => {
                if self.inpatients.contains_key(&p.patient) {
                    Err(Rejection::PatientAlreadyIn)
                } else {
                    self.pre_admitted.insert(p.patient.clone(), p.clone());
                    Ok(())
                }
            }
            EventKind::PreAdmitCancelled(p) => self
                .pre_admitted
                .remove(&p.patient)
                .map(drop)
                .ok_or(Rejection::NothingToCancel),
            EventKind::Update(u) => {
                if let Some(bed) = self.inpatients.get_mut(&u.patient) {
                    if let Some(day) = u.expected_discharge {
                        bed.expected_discharge = day;
                    }
                    Ok(())
                } else if let Some(pre) = self.pre_admitted.get_mut(&u.patient) {
                    if u.expected_discharge.is_some() {
                        pre.expected_discharge = u.expected_discharge;
                    }
                    Ok(())
                } else {
                    Err(Rejection::PatientNotIn)
                }
            }
            EventKind::AdmitCancelled(p) => match self.inpatients.get(&p.patient) {
                Some(bed) if bed.is_after(event.at) => Err(Rejection::Stale),
                Some(_) => {
                    if let Some(bed) = self.inpatients.remove(&p.patient) {
                        self.bed_freed(&bed.ward);
                    }
                    Ok(())
                }
                None => Err(Rejection::PatientNotIn),
            },
            EventKind::TransferCancelled(t) => match self.inpatients.get_mut(&t.patient) {
                Some(bed) if bed.is_after(event.at) => Err(Rejection::Stale),
                Some(bed) => match bed.transferred_from.take() {
                    Some(from) => {
                        let to = t.ward.clone().unwrap_or(from);
                        self.move_patient(&t.patient, &to, event.at);
                        Ok(())
                    }
                    None => Err(Rejection::NothingToCancel),
                },
                None => Err(Rejection::PatientNotIn),
            },
            EventKind::DischargeCancelled(d) => {
                if self.inpatients.contains_key(&d.patient) {
                    Err(Rejection::PatientAlreadyIn)
                } else if let Some(left) = self.discharged.get(&d.patient) {
                    if event.at < left.at {
                        Err(Rejection::Stale)
                    } else {
                        let mut bed = left.bed.clone();
                        if let Some(ward) = &d.ward {
                            bed.ward = ward.clone();
                        }
                        bed.moved = Some(event.at);
                        bed.transferred_from = None;
                        self.bed_taken(&bed.ward);
                        self.discharged.remove(&d.patient);
                        self.inpatients.insert(d.patient.clone(), bed);
                        Ok(())
                    }
                } else {
                    match (&d.ward, &d.admit_unknown) {
                        (Some(ward), Some(details)) => {
                            self.admit_patient(&d.patient, ward, details, event.at)
                        }
                        _ => Err(Rejection::PatientNotIn),
                    }
                }
            }
            EventKind::Swap(w) => {
                match (
                    self.inpatients.get(&w.patient),
                    self.inpatients.get(&w.other),
                ) {
                    (Some(a), Some(b)) if a.is_after(event.at) || b.is_after(event.at) => {
                        Err(Rejection::Stale)
                    }
                    (Some(a), Some(b)) => {
                        let (wa, wb) = (a.ward.clone(), b.ward.clone());
                        self.move_patient(&w.patient, &wb, event.at);
                        self.move_patient(&w.other, &wa, event.at);
                        for p in [&w.patient, &w.other] {
                            if let Some(bed) = self.inpatients.get_mut(p) {
                                bed.transferred_from = None;
                            }
                        }
                        Ok(())
                    }
                    _ => Err(Rejection::PatientNotIn),
                }
            }
            EventKind::TraumaArrival(t) => {
                let day = event.at.date_naive();
                let minutes = self
                    .trauma
                    .entry(t.site.clone())
                    .or_default()
                    .entry(day)
                    .or_default();
                *minutes = minutes.saturating_add(t.minutes_est);
                self.counts.trauma_arrivals += 1;
                Ok(())
            }
            EventKind::CaseDone(c) => {
                let found =
                    self.unwait(&c.case).is_some() || self.admitted.remove(&c.case).is_some();
                if found {
                    self.counts.cases_done += 1;
                    Ok(())
                } else {
                    Err(Rejection::CaseNotListed)
                }
            }
            EventKind::CaseCancelled(c) => {
                if let Some(case) = self.admitted.remove(&c.case) {
                    self.wait(case);
                    self.counts.cases_cancelled += 1;
                    Ok(())
                } else if self.waiting.contains_key(&c.case) {
                    self.counts.cases_cancelled += 1;
                    Ok(())
                } else {
                    Err(Rejection::CaseNotListed)
                }
            }
            EventKind::WardBeds(w) => {
                if w.to >= self.plan_start() {
                    self.bed_changes
                        .entry(w.ward.clone())
                        .or_default()
                        .push(w.clone());
                }
                Ok(())
            }
            EventKind::Listed(l) => {
                let id = &l.case.id;
                if self.waiting.contains_key(id) || self.admitted.contains_key(id) {
                    Err(Rejection::CaseAlreadyListed)
                } else {
                    self.wait(Case::clone(&l.case));
                    Ok(())
                }
            }
            EventKind::Delisted(c) => self
                .unwait(&c.case)
                .map(drop)
                .ok_or(Rejection::CaseNotListed),
            EventKind::OpelDeclared(o) => {
                let declared = OpelLevel {
                    site: o.site.clone(),
                    level: o.level,
                    by: o.by.clone(),
                    at: event.at.to_rfc3339(),
                };
                match self.opel.binary_search_by(|l| l.site.cmp(&o.site)) {
                    Ok(i) => self.opel[i] = declared,
                    Err(i) => self.opel.insert(i, declared),
                }
                Ok(())
            }
        };
        // Pre-admissions are recorded, not planned; a declaration changes what the
        // dashboard shows, not the planning problem.
        let planned = !matches!(
            event.kind,
            EventKind::PreAdmit(_) | EventKind::PreAdmitCancelled(_) | EventKind::OpelDeclared(_)
        );
        match result {
            Ok(()) => {
                self.counts.applied += 1;
                Change {
                    outcome: Outcome::Applied,
                    stale: planned || day_rolled,
                    day_rolled,
                }
            }
            Err(why) => {
                self.counts.rejected += 1;
                Change {
                    outcome: Outcome::Rejected(why),
                    stale: day_rolled,
                    day_rolled,
                }
            }
        }
    }

    /// Drops bed changes and trauma minutes that lie wholly before the current day.
    fn forget_the_past(&mut self) {
        let start = self.plan_start();
        for changes in self.bed_changes.values_mut() {
            changes.retain(|c| c.to >= start);
        }
        self.bed_changes.retain(|_, c| !c.is_empty());
        for days in self.trauma.values_mut() {
            days.retain(|&day, _| day >= start);
        }
        self.trauma.retain(|_, d| !d.is_empty());
        let keep = start
            .checked_sub_days(Days::new(DISCHARGE_MEMORY_DAYS))
            .unwrap_or(start);
        self.discharged.retain(|_, l| l.at.date_naive() >= keep);
    }
}
