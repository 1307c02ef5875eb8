//! The demo workshops a fresh server starts with, so that a new user sees
//! something. The text is Synpunkt's own.

use model::summary::{Action, MeetingType, Section, Summary, Workshop};

pub fn summaries() -> Vec<Summary> {
    vec![
        Summary {
            workshop: Workshop {
                title: "Digitala vårdmöten i glesbygd – vad har vi lärt oss?".into(),
                when: "Tisdag 3:e Mar 10:00-11:30".into(),
                hosts: vec!["Maria Lindqvist (Region Norrbotten)".into()],
                stakeholders: vec![
                    "Erik Sandberg, E-hälsomyndigheten".into(),
                    "Lena Åkesson, Vårdcentralen Kiruna".into(),
                ],
                ambassadors: vec![],
                meeting_type: MeetingType::Open,
                format: "seminar, open, svenska/english".into(),
                language: "sv, en".into(),
                registration: "Open to everyone; register on the day.".into(),
            },
            sections: vec![
                Section {
                    id: "issue".into(),
                    heading: "The issue at hand".into(),
                    body: "Patients in sparsely populated areas travel far for short appointments. Video visits save the trip, but only when the equipment, the scheduling and the follow-up work together.\nHur säkerställer vi att ett digitalt besök blir lika bra som ett fysiskt? 😀".into(),
                },
                Section {
                    id: "outcomes".into(),
                    heading: "The outcomes".into(),
                    body: "The group agreed that booking and follow-up matter more than the video tool itself. Three regions will share their checklists, and a common set of measures — waiting time, travel avoided, patient satisfaction — will be tried during the spring.".into(),
                },
                Section {
                    id: "get-involved".into(),
                    heading: "Get involved".into(),
                    body: "This summary is open for dialogue and input: select a sentence to comment on it, or propose a better wording.".into(),
                },
            ],
            actions: vec![
                Action {
                    id: "a1".into(),
                    text: "Collect the regions' checklists for video visits".into(),
                    owner: "Region Norrbotten".into(),
                    due: "2026-04-15".into(),
                    status: "open".into(),
                },
                Action {
                    id: "a2".into(),
                    text: "Propose common measures for the spring trial".into(),
                    owner: "E-hälsomyndigheten".into(),
                    due: "2026-05-01".into(),
                    status: "in-progress".into(),
                },
            ],
        },
        Summary {
            workshop: Workshop {
                title: "Shared cold-chain logistics for cell therapies".into(),
                when: "Torsdag 5:e Mar 13:00-15:00".into(),
                hosts: vec!["Johan Berg (RISE)".into()],
                stakeholders: vec![],
                ambassadors: vec!["Sara Nilsson".into(), "Omar Haddad".into()],
                meeting_type: MeetingType::InviteOnly,
                format: "workshop, closed, english".into(),
                language: "en".into(),
                registration: "Invited participants only.".into(),
            },
            sections: vec![Section {
                id: "issue".into(),
                heading: "The issue at hand".into(),
                body: "Each hospital builds its own transport chain for temperature-sensitive therapies. Could a shared service cut costs without adding risk?".into(),
            }],
            actions: vec![],
        },
    ]
}
