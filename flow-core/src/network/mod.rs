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
