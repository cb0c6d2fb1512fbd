//! Human summaries of scenarios, plans and reports (filled in when check lands).
