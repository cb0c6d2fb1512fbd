//! The clinical network as a graph: sites are nodes, `network.links` directed edges.
//!
//! [`SiteGraph::build`] reads a scenario's sites and links into a petgraph
//! [`DiGraph`] (a `bidirectional` link becomes two edges with the same terms) and
//! refuses a link that names an unknown site or links a site to itself with a typed
//! [`NetworkError`] naming the field. On the graph: [`SiteGraph::unreachable`] names the
//! members of a trust that no link joins to the rest of it; [`SiteGraph::travel_from`]
//! and [`SiteGraph::travel_min`] are the shortest travel times (Dijkstra over
//! `travel_min`); [`SiteGraph::bed_components`] are, per bed kind, the connected
//! components of the graph restricted to links that lend that kind of bed — the pools
//! a pooled emergency reserve is computed over.
//!
//! Pure data helpers: no priorities or costs live here (those are the planner's MIP),
//! and nothing here knows about plans, so the checker may lean on it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::algo::dijkstra;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::unionfind::UnionFind;
use petgraph::visit::EdgeRef;

use crate::scenario::{Link, Scenario};

/// Why a scenario's network cannot be made into a graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// A link names a site the scenario does not list.
    #[error("network.links[{link}].{end}: unknown site \"{site}\"")]
    UnknownSite {
        /// Index of the link in `network.links`.
        link: usize,
        /// `from` or `to`.
        end: &'static str,
        /// The site named.
        site: String,
    },
    /// A link goes from a site to itself.
    #[error("network.links[{link}].to: links site \"{site}\" to itself")]
    SelfLink {
        /// Index of the link in `network.links`.
        link: usize,
        /// The site.
        site: String,
    },
}

impl NetworkError {
    /// The field path the error concerns (`network.links[2].from`).
    pub fn path(&self) -> String {
        match self {
            NetworkError::UnknownSite { link, end, .. } => format!("network.links[{link}].{end}"),
            NetworkError::SelfLink { link, .. } => format!("network.links[{link}].to"),
        }
    }
}

/// One directed edge: a link, in one of its directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Index of the link in `network.links`.
    pub link: usize,
    /// The link's travel time in minutes.
    pub travel_min: u32,
}

/// A site of a trust that no link joins to the rest of the trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    /// Index of the site in `sites`.
    pub site: usize,
    /// The site's id.
    pub id: String,
    /// The trust it belongs to.
    pub trust: String,
    /// The other members of the trust it cannot reach, sorted.
    pub others: Vec<String>,
}

/// Sites of one bed kind whose pools lend each other beds, directly or through others.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BedComponent {
    /// The bed kind.
    pub kind: String,
    /// The sites, sorted; a site whose pool lends and borrows nothing is alone.
    pub sites: Vec<String>,
}

/// The network of a scenario as a directed graph of sites.
#[derive(Debug, Clone)]
pub struct SiteGraph<'a> {
    graph: DiGraph<&'a str, Edge>,
    nodes: HashMap<&'a str, NodeIndex>,
    scenario: &'a Scenario,
}

impl<'a> SiteGraph<'a> {
    /// Every site as a node and every link as an edge (two for a `bidirectional` one).
    /// A scenario without `network` gives a graph without edges.
    pub fn build(scenario: &'a Scenario) -> Result<Self, NetworkError> {
        let mut graph = DiGraph::new();
        let mut nodes = HashMap::new();
        for site in &scenario.sites {
            nodes
                .entry(site.id.as_str())
                .or_insert_with(|| graph.add_node(site.id.as_str()));
        }
        for (i, link) in links(scenario).iter().enumerate() {
            let end = |end: &'static str, site: &str| {
                nodes
                    .get(site)
                    .copied()
                    .ok_or_else(|| NetworkError::UnknownSite {
                        link: i,
                        end,
                        site: site.to_owned(),
                    })
            };
            let from = end("from", &link.from)?;
            let to = end("to", &link.to)?;
            if from == to {
                return Err(NetworkError::SelfLink {
                    link: i,
                    site: link.from.clone(),
                });
            }
            let edge = Edge {
                link: i,
                travel_min: link.travel_min,
            };
            graph.add_edge(from, to, edge);
            if link.bidirectional {
                graph.add_edge(to, from, edge);
            }
        }
        Ok(SiteGraph {
            graph,
            nodes,
            scenario,
        })
    }

    /// The links that run directly from `from` to `to` (a `bidirectional` link counts
    /// in both directions), as link indices in `network.links` order.
    pub fn direct(&self, from: &str, to: &str) -> Vec<usize> {
        let (Some(&a), Some(&b)) = (self.nodes.get(from), self.nodes.get(to)) else {
            return Vec::new();
        };
        let mut found: Vec<usize> = self
            .graph
            .edges_connecting(a, b)
            .map(|e| e.weight().link)
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Shortest travel time in minutes from `from` to every site it reaches (itself at
    /// 0), over directed edges; empty for an unknown site.
    pub fn travel_from(&self, from: &str) -> BTreeMap<String, u64> {
        let Some(&start) = self.nodes.get(from) else {
            return BTreeMap::new();
        };
        dijkstra(&self.graph, start, None, |e| {
            u64::from(e.weight().travel_min)
        })
        .into_iter()
        .map(|(node, minutes)| (self.graph[node].to_owned(), minutes))
        .collect()
    }

    /// Shortest travel time in minutes from `from` to `to`, or `None` when no chain of
    /// links leads there.
    pub fn travel_min(&self, from: &str, to: &str) -> Option<u64> {
        let (&start, &goal) = (self.nodes.get(from)?, self.nodes.get(to)?);
        dijkstra(&self.graph, start, Some(goal), |e| {
            u64::from(e.weight().travel_min)
        })
        .get(&goal)
        .copied()
    }

    /// Members of a trust (sites with the same `trust`) that no link, in either
    /// direction, joins to the trust's other members: for each trust, the sites outside
    /// the component holding most of its members (ties: the one holding its first
    /// listed site). Sites without a `trust` are never reported.
    pub fn unreachable(&self) -> Vec<Unreachable> {
        let components = self.weak_components(|_| true);
        let mut trusts: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, site) in self.scenario.sites.iter().enumerate() {
            if let Some(trust) = &site.trust {
                trusts.entry(trust.as_str()).or_default().push(i);
            }
        }
        let mut out = Vec::new();
        for (trust, members) in trusts {
            let component_of = |i: usize| {
                self.nodes
                    .get(self.scenario.sites[i].id.as_str())
                    .map(|n| components.find(n.index()))
            };
            let mut sizes: Vec<(Option<usize>, usize)> = Vec::new();
            for &m in &members {
                let c = component_of(m);
                match sizes.iter_mut().find(|(k, _)| *k == c) {
                    Some((_, n)) => *n += 1,
                    None => sizes.push((c, 1)),
                }
            }
            // Largest first; the stable sort keeps first-listed on ties.
            sizes.sort_by_key(|s| std::cmp::Reverse(s.1));
            let main = sizes.first().and_then(|(c, _)| *c);
            for &m in &members {
                if component_of(m) == main {
                    continue;
                }
                let id = &self.scenario.sites[m].id;
                let others: BTreeSet<String> = members
                    .iter()
                    .map(|&o| self.scenario.sites[o].id.clone())
                    .filter(|o| o != id)
                    .collect();
                out.push(Unreachable {
                    site: m,
                    id: id.clone(),
                    trust: trust.to_owned(),
                    others: others.into_iter().collect(),
                });
            }
        }
        out.sort_by_key(|u| u.site);
        out
    }

    /// Per bed kind the scenario's wards have, the connected components of the sites
    /// with a pool of that kind, joined by links that lend beds of that kind
    /// (`lend` > 0, in either direction). Every pool is in exactly one component;
    /// sorted by kind, then by first site.
    pub fn bed_components(&self) -> Vec<BedComponent> {
        let mut by_kind: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for ward in &self.scenario.wards {
            by_kind
                .entry(ward.kind.as_str())
                .or_default()
                .insert(ward.site.as_str());
        }
        let mut out = Vec::new();
        for (kind, sites) in by_kind {
            let links = links(self.scenario);
            let components = self.weak_components(|e| {
                links
                    .get(e.link)
                    .is_some_and(|l| l.beds.iter().any(|b| b.kind == kind && b.lend > 0))
            });
            let mut groups: BTreeMap<usize, Vec<String>> = BTreeMap::new();
            for site in sites {
                let Some(node) = self.nodes.get(site) else {
                    continue;
                };
                groups
                    .entry(components.find(node.index()))
                    .or_default()
                    .push(site.to_owned());
            }
            let mut found: Vec<BedComponent> = groups
                .into_values()
                .map(|sites| BedComponent {
                    kind: kind.to_owned(),
                    sites,
                })
                .collect();
            found.sort();
            out.extend(found);
        }
        out
    }

    /// Union-find of the nodes joined by the edges `keep` accepts, ignoring direction.
    fn weak_components(&self, keep: impl Fn(&Edge) -> bool) -> UnionFind<usize> {
        let mut sets = UnionFind::new(self.graph.node_count());
        for edge in self.graph.edge_references() {
            if keep(edge.weight()) {
                sets.union(edge.source().index(), edge.target().index());
            }
        }
        sets
    }
}

/// Beds one pool lends another along a link: `lend` beds of `kind` at `lender` may
/// take `borrower`'s emergency overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lent<'a> {
    /// The site whose pool overflows (the link's `from`).
    pub borrower: &'a str,
    /// The site whose beds take it (the link's `to`).
    pub lender: &'a str,
    /// The bed kind.
    pub kind: &'a str,
    /// At most this many beds at once.
    pub lend: u32,
}

/// A repatriation term: emergency patients of `kind` at `centre` (the link's `to`)
/// still in after `after_nights` nights go home to `home` (its `from`), at most
/// `max_per_day` a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Return<'a> {
    /// Where the patients are.
    pub centre: &'a str,
    /// Where they go back to.
    pub home: &'a str,
    /// The bed kind.
    pub kind: &'a str,
    /// Nights at the centre first.
    pub after_nights: u32,
    /// Most a day.
    pub max_per_day: u32,
}

/// A direction of a link that carries elective work (two for a `bidirectional` one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElectiveDirection<'a> {
    /// Home site of the moved cases.
    pub from: &'a str,
    /// Site that operates them.
    pub to: &'a str,
    /// The link's travel time in minutes.
    pub travel_min: u32,
    /// Most moves per day.
    pub max_per_day: u32,
}

/// Whether the scenario's network is one the reserve and the simulator may read:
/// present and building without a [`NetworkError`] (validation reports those), so an
/// invalid network never loosens a reserve.
fn usable(scenario: &Scenario) -> bool {
    scenario.network.is_some() && SiteGraph::build(scenario).is_ok()
}

/// The beds lent along the scenario's links, in link order (a `bidirectional` link
/// lends both ways on the same terms); none when the network is absent or invalid.
pub fn lent_beds(scenario: &Scenario) -> Vec<Lent<'_>> {
    if !usable(scenario) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for link in links(scenario) {
        for b in link.beds.iter().filter(|b| b.lend > 0) {
            let lent = Lent {
                borrower: &link.from,
                lender: &link.to,
                kind: &b.kind,
                lend: b.lend,
            };
            out.push(lent);
            if link.bidirectional {
                out.push(Lent {
                    borrower: &link.to,
                    lender: &link.from,
                    ..lent
                });
            }
        }
    }
    out
}

/// The repatriation terms of the scenario's links with a daily maximum and a stay at
/// the centre above 0, in link order; none when the network is absent or invalid.
pub fn repatriations(scenario: &Scenario) -> Vec<Return<'_>> {
    if !usable(scenario) {
        return Vec::new();
    }
    links(scenario)
        .iter()
        .filter_map(|link| {
            let r = link.repatriation.as_ref()?;
            (r.max_per_day > 0 && r.after_nights > 0).then_some(Return {
                centre: &link.to,
                home: &link.from,
                kind: &r.kind,
                after_nights: r.after_nights,
                max_per_day: r.max_per_day,
            })
        })
        .collect()
}

/// Every direction of the scenario's links that carries electives, in link order.
pub fn elective_directions(scenario: &Scenario) -> Vec<ElectiveDirection<'_>> {
    let mut out = Vec::new();
    for link in links(scenario) {
        let Some(e) = &link.electives else {
            continue;
        };
        let there = ElectiveDirection {
            from: &link.from,
            to: &link.to,
            travel_min: link.travel_min,
            max_per_day: e.max_per_day,
        };
        out.push(there);
        if link.bidirectional {
            out.push(ElectiveDirection {
                from: &link.to,
                to: &link.from,
                ..there
            });
        }
    }
    out
}

/// The scenario's links (none without a network).
fn links(scenario: &Scenario) -> &[Link] {
    scenario
        .network
        .as_ref()
        .map_or(&[], |n| n.links.as_slice())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
